"""Finance's monthly report: what the program gave and owes, month by month (docs/finance.md)."""
