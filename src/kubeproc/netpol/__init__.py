"""NetworkPolicy enforcement: policies, pods and namespaces in, nftables rules out."""
