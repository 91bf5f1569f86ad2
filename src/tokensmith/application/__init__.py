"""The MSAL-compatible application façade (thin delegators over the typed core)."""
