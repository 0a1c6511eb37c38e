"""Parts the built-in methods share: DCGAN-shaped and PatchGAN networks, the GAN losses and
the gradient penalty, and config bounds checks (anomalib's `models/components`, for
medbench).

Not part of `medbench.api`: a paper's architecture must not become the plugin contract.
Third-party plugins may import it, on these terms: **provided, not frozen**. A change that
would alter a built-in method's numbers is a bug here (the reference leaderboards pin them),
but names and signatures may change in any release, with a CHANGELOG line. A plugin that
needs stability copies the part it uses.

Who may import it is in pyproject.toml's import contracts: the plugins, and nothing in the
harness.
"""
