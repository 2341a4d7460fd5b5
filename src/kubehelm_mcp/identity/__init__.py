"""The caller's identity on the cluster (--cluster-identity): impersonated names and exchanged tokens."""
