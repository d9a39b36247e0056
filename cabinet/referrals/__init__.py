"""The referral program: rules, storage, services, CLI and pages."""
