"""Keep the testbed's state across restarts (``poms-dd testbed --state PATH``).

The store (minus its lock) is pickled to PATH atomically (write a temporary file, fsync, rename): at most every
``interval`` seconds while it changes (``Store.generation``) and once more on shutdown.
"""
from __future__ import annotations

import logging
import os
import pickle
import tempfile
import threading

from .store import Store

log = logging.getLogger(__name__)


def save(store: Store, path: str) -> None:
    """Write the store to ``path`` atomically; raises OSError if the directory is not writable."""
    with store.lock:
        state = {k: v for k, v in store.__dict__.items() if k != "lock"}
        data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".testbed-state-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(store: Store, path: str) -> bool:
    """Replace the store's contents with the saved state; False if ``path`` does not exist."""
    if not os.path.exists(path):
        return False
    with open(path, "rb") as f:
        state = pickle.load(f)      # only files this testbed wrote itself: never point --state at foreign files
    with store.lock:
        store.__dict__.update(state)
    return True


class Saver:
    """A daemon thread that saves the store whenever it changed, at most every ``interval`` seconds."""

    def __init__(self, store: Store, path: str, interval: float = 3.0) -> None:
        self.store, self.path, self.interval = store, path, interval
        self.saved_generation = store.generation
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="testbed-saver", daemon=True)

    def start(self) -> "Saver":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        generation = self.store.generation
        if generation != self.saved_generation:
            try:
                save(self.store, self.path)
                self.saved_generation = generation
            except OSError as err:
                log.error("cannot save testbed state to %s: %s", self.path, err)

    def stop(self) -> None:
        """Stop the thread and save a final time (always, so a clean shutdown leaves a state file)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        save(self.store, self.path)
        self.saved_generation = self.store.generation
