"""Events between the processes of one deployment: pushes to a user's sockets (upload
progress) and session revocations, in process for one server or over the database."""
