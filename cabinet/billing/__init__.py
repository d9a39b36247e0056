"""Where the program's discount reaches the operator's bill (the cabinet itself does not bill)."""
