"""Manifests: the product users download, cite and train on."""
