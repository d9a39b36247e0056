"""Clients of «Корпоративная АТС»: the companies that own a PBX."""
