"""For the operator's staff: manager accounts, the demo time machine, the audit log, support
tools and the program dashboard (under /manage)."""
