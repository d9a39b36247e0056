"""A gateway simulator for demos and tests: speaks the SMS and e-mail gateway contract, keeps
the messages in memory, shows them as an inbox, and injects faults on request."""
