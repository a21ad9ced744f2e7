"""Clean PyTorch reference implementations of the classic generative model families."""
