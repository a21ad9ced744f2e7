"""GANs: one table of losses, shared nets, one trainer."""
