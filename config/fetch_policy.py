"""How to fetch: politeness, limits and the SSRF allowance. Configuration, so it imports nothing of the project."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class FetchPolicy:
    """How to fetch: politeness, limits and the SSRF allowance (see the README's Fetching section)."""

    user_agent: str = "mediamon/0.1 (media monitoring; +https://github.com/mediamon/mediamon)"
    concurrency: int = 16
    per_host_concurrency: int = 2
    min_host_interval: float = 0.5
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 10
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    respect_robots: bool = True
    allow_private_hosts: bool = False
    allowed_networks: tuple[str, ...] = ()  # CIDRs allowed even when private, e.g. ("127.0.0.1/32",)

    def __post_init__(self) -> None:
        for name in ("concurrency", "per_host_concurrency", "max_bytes", "max_attempts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("min_host_interval", "connect_timeout", "read_timeout", "total_timeout", "backoff_base"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        for network in self.allowed_networks:
            ipaddress.ip_network(network)  # raises ValueError naming a malformed entry

    def allows_address(self, address: str) -> bool:
        """The SSRF rule: public addresses, or any address when allowed explicitly."""
        if self.allow_private_hosts or is_public_address(address):
            return True
        ip = ipaddress.ip_address(address)
        return any(ip in ipaddress.ip_network(network) for network in self.allowed_networks)


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )
