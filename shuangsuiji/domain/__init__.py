"""Pure computation (the SRDP-1 draw engine): stdlib + numpy, no I/O, no clock."""
