"""Clusters a call may name: where they come from (a provider) and how each is reached.

A provider turns the `cluster` a call names into a connection target for the server; the
pipeline then applies the caller's identity to it (pipeline/identity.py), and the client pool
keys clients by cluster and identity. `kubeconfig` serves each context as a cluster; `capi`
serves the Cluster API Clusters of a management cluster (clusters/capi/).
"""
