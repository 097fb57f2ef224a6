# SPDX-License-Identifier: ISC
# libFuzzer targets (clang): `make fuzz` builds them; see tests/fuzz/README.
