"""The upload API of photo-pipeline (one ASGI app for Lambda and Fargate). Work in progress: issue 3."""
