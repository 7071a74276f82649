"""The web portal: server-rendered pages over the three services' HTTP APIs."""
