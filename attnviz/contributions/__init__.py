"""What attention contributes: residual decomposition, direct logit attribution and the logit lens."""
