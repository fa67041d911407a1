"""Signals other apps listen to, so connections never import them."""

from django.dispatch import Signal

# Sent inside the transaction that created or reconnected a connection; kwargs: connection.
connection_connected = Signal()
