"""Cluster DNS: Service and pod names answered on the pods' network, the rest forwarded."""
