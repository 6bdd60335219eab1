"""Use cases.  Services take their collaborators in the constructor and own the transaction."""
