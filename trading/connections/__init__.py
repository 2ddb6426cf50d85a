"""IB connections as data (trading/models/connections.py): the environment's `default` row, the rows
added in the admin or with `manage.py connection`, and what `up` and `ibworker --connection` read."""
