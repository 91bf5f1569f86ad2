"""Managed identity, sans-I/O: one module per token source (request building and
response parsing), the identity objects, and source detection.

=====================  ====================================================
module                 source
=====================  ====================================================
:mod:`.imds`           the VM's Instance Metadata Service (default)
:mod:`.app_service`    App Service, Functions, Container Apps, Automation
:mod:`.service_fabric` Service Fabric (TLS pinned to a thumbprint)
:mod:`.arc`            Azure Arc (401 challenge, key file)
:mod:`.machine_learning` Azure Machine Learning
:mod:`.cloud_shell`    Azure Cloud Shell
=====================  ====================================================

:mod:`.sources` decides which one applies (MSAL Python's order); docs/managed-identity.md.
"""
