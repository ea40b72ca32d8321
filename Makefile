# Two commands: `make demo` and `make test`. Each creates .venv on first use:
# Python 3.10 (Lava supports only 3.10) and a pinned install from constraints.txt.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# pyenv's 3.10 (selected by .python-version), or any python3.10 on PATH; override with PYTHON310=...
PYTHON310 ?= $(shell command -v python3.10 2>/dev/null || pyenv which python3.10 2>/dev/null)
DEMO_DIR := demo-out
# The core without Lava, on a newer Python with numpy 2 and current torch.
# (the first python3.12 / python3.11 on PATH that actually runs: pyenv shims for versions other
# than .python-version's do not)
CORE_PYTHON ?= $(shell for p in python3.12 python3.11; do $$p -c '' 2>/dev/null && { command -v $$p; break; }; done)
CORE_VENV := .venv-core

.PHONY: demo test test-core env lock clean bench golden fuzz docs

$(VENV)/.installed: pyproject.toml constraints.txt
	@if [ -z "$(PYTHON310)" ] || ! "$(PYTHON310)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then \
	  echo "error: Python 3.10 not found. Lava (lava-nc 0.10, lava-dl 0.6) runs only on 3.10:" >&2; \
	  echo "       install it (for example 'pyenv install 3.10') or run 'make PYTHON310=/path/to/python3.10 ...'" >&2; \
	  exit 1; fi
	rm -rf $(VENV)
	"$(PYTHON310)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[lava,interchange,events,test]'
	touch $@

env: $(VENV)/.installed

test: env
	$(PY) -m pytest -q
	$(MAKE) --no-print-directory test-core

# Core tests on Python 3.11/3.12 + numpy 2 + the newest torch, without Lava installed at all.
test-core:
	@if [ -z "$(CORE_PYTHON)" ]; then echo "skipping test-core: no python3.11 or 3.12 found" >&2; exit 0; fi; \
	set -e; if [ ! -f $(CORE_VENV)/.installed ]; then \
	  rm -rf $(CORE_VENV); "$(CORE_PYTHON)" -m venv $(CORE_VENV); \
	  $(CORE_VENV)/bin/python -m pip install -q --upgrade pip; \
	  $(CORE_VENV)/bin/python -m pip install -q 'numpy>=2' torch -e '.[test]'; \
	  touch $(CORE_VENV)/.installed; fi; \
	$(CORE_VENV)/bin/python -c 'import numpy, torch, sys; print("core env: Python", sys.version.split()[0], "numpy", numpy.__version__, "torch", torch.__version__)'; \
	$(CORE_VENV)/bin/python -m pytest -q -m "not lava" tests

# A Dense/LIF chain (netx HDF5), then an OR-residual SynA-ResNet with binary attention masks
# (the snn-export graph file); each verified spike for spike in Lava, and written as NIR (read
# back and verified in Lava) and ONNX. Then two networks trained in norse, imported from NIR
# (a Dense chain, and a CNN with pooling and a leaky-integrator readout), and two CNNs trained
# in lava-dl's slayer (the second behind slayer's Input block, on test samples from .npy
# files), read from their netx files and verified against stock netx.
demo: env
	mkdir -p $(DEMO_DIR)
	$(VENV)/bin/snn-train --epochs 30 -o $(DEMO_DIR)/model.pt
	$(VENV)/bin/snn-export $(DEMO_DIR)/model.pt --target lava -o $(DEMO_DIR)/lava --verify 200
	$(VENV)/bin/snn-export $(DEMO_DIR)/model.pt --target nir -o $(DEMO_DIR)/nir --verify 20
	$(VENV)/bin/snn-export $(DEMO_DIR)/model.pt --target onnx -o $(DEMO_DIR)/onnx
	$(VENV)/bin/snn-train --arch syna_resnet --hidden 8 16 --time-steps 8 --epochs 20 \
	  --float-epochs 16 -o $(DEMO_DIR)/syna.pt
	$(VENV)/bin/snn-export $(DEMO_DIR)/syna.pt --target lava -o $(DEMO_DIR)/syna_lava --verify 50
	$(VENV)/bin/snn-export $(DEMO_DIR)/syna.pt --target nir -o $(DEMO_DIR)/syna_nir --verify 5
	$(VENV)/bin/snn-export $(DEMO_DIR)/syna.pt --target onnx -o $(DEMO_DIR)/syna_onnx
	$(PY) examples/norse_digits.py --epochs 20 -o $(DEMO_DIR)/norse.nir
	$(VENV)/bin/snn-export $(DEMO_DIR)/norse.nir --dialect norse --time-steps 16 --target lava \
	  -o $(DEMO_DIR)/norse_lava --dataset digits --evaluate 360 --verify 20
	$(PY) examples/norse_digits.py --arch cnn --epochs 20 -o $(DEMO_DIR)/norse_cnn.nir
	$(VENV)/bin/snn-export $(DEMO_DIR)/norse_cnn.nir --dialect norse --time-steps 16 \
	  --target lava -o $(DEMO_DIR)/norse_cnn_lava --dataset digits --evaluate 360 --verify 20
	$(PY) examples/slayer_digits.py --epochs 10 -o $(DEMO_DIR)/network.net
	$(VENV)/bin/snn-export $(DEMO_DIR)/network.net --time-steps 16 --target lava \
	  -o $(DEMO_DIR)/slayer_lava --dataset digits --evaluate 360 --verify 20
	mkdir -p $(DEMO_DIR)/slayer_input
	$(PY) examples/slayer_digits.py --input-neurons --epochs 10 \
	  -o $(DEMO_DIR)/slayer_input/network.net
	$(VENV)/bin/snn-export $(DEMO_DIR)/slayer_input/network.net --time-steps 16 --target lava \
	  -o $(DEMO_DIR)/slayer_input_lava --input-bits 2 --input $(DEMO_DIR)/slayer_input/x_test.npy \
	  --labels $(DEMO_DIR)/slayer_input/y_test.npy --evaluate 360 --verify 20

# Speed, side by side in one run each (samples/s, seconds and ratios): the emulator and the
# verify runner against Lava; training against snnTorch and norse; the seed networks at their
# size (lowering, emulator, one Table IX sample in Lava: about 15 minutes of the total).
bench: env
	$(PY) benchmarks/emulator_vs_lava.py
	$(PY) benchmarks/train_vs_peers.py
	$(PY) benchmarks/seed_scale.py --lava

# Regenerate the reference pages in docs/ from the code (make test checks they are current).
docs: env
	$(PY) docs/generate.py

# Regenerate the golden vectors in tests/golden/ from real Lava.
golden: env
	$(PY) -m tests.make_golden

# The long fuzzing run: FUZZ_EXAMPLES hypothesis examples of 1-4 random networks each;
# one line per example goes to fuzz-log.txt (follow it with tail -f).
FUZZ_EXAMPLES ?= 1500
fuzz: env
	SNN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SNN_FUZZ_LOG=fuzz-log.txt $(PY) -m pytest -q \
	  tests/test_fuzz_lava.py -k random_networks --hypothesis-show-statistics

lock: env
	{ head -2 constraints.txt; $(PY) -m pip freeze --exclude-editable; } > constraints.new && mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) $(CORE_VENV) $(DEMO_DIR) .pytest_cache .hypothesis
