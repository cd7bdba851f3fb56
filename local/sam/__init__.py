"""`make sam-local` and what it needs: Docker, a Lambda base image, env.json, the runner."""
