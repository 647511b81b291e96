"""Local servers that speak the chat platforms' wire protocols strictly, for real-client tests."""
