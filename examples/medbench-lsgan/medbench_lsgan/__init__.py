"""medbench-lsgan: a least-squares GAN as an external medbench plugin."""
