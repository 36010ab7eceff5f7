"""NiceGUI pages: what a person sees. They build UI and call services; they never run SQL or decide permissions."""
