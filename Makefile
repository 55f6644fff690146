# l2l Makefile. Targets:
#   make              library + programs (float32), in build/
#   make test         the doctest suite (compiled in double for gradient checks), then the
#                     float32 kernel tests (build/tests-f32: float kernels vs double references),
#                     then tests/scripts/test_experiments.sh (also alone: make test-scripts) and
#                     tests/scripts/test_train_cli.sh (run directories, through build/l2l and
#                     build/art_images), tests/scripts/test_flags.sh (the command line, through
#                     build/l2l), tests/scripts/test_train_zoo.sh (scripts/train-zoo.sh's chunks and
#                     resume, on the quadratics), tests/scripts/test_fetch_data.sh (scripts/fetch-data.sh from file://
#                     copies), tests/scripts/test_code_shape.sh (top comments, function lengths) and
#                     tests/scripts/test_docs.sh (the README's and docs' file:line references and counts)
#                     Also build/avx2/tests-f32: the float kernel tests again, built without AVX-512
#   make test-avx2    the 256-bit kernels (gemm_small, nn/fastmath.h, compiled with -mno-avx512f into
#                     build/avx2/): the float kernel tests and the double suite's kernel cases
#   make test-slow    the slow behavioural tests (meta-training runs), skipped by `make test`,
#                     and make test-zoo
#   make test-zoo     the committed optimizers trained at scale (zoo/) come from this code: each
#                     one's first epoch retrained from its command.txt, compared bit for bit
#   make train-zoo    meta-train zoo/'s optimizers at scale (hours each), in resumable chunks of
#                     ZOO_MINUTES (scripts/train-zoo.sh)
#   make sanitize     the same suite under AddressSanitizer + UBSan
#   make fuzz         libFuzzer (clang, ASan+UBSan) on every reader of outside bytes,
#                     FUZZ_SECONDS (default 60) per target; crashes go to build/fuzz/crashes/
#   make test-mpi     Open MPI tests (tests/scripts/test_mpi.sh): K problems on 1 rank == on 2 and 4
#                     ranks bit for bit, resume with another rank count, a failing rank stops all
#   make bench        speed table (ratios and throughputs; never part of the tests)
#   make bench-ref    optional: build/bench's MNIST rows beside the same computation in PyTorch
#                     (scripts/bench_ref.py, Debian's python3-torch), l2l/PyTorch ratios
#   make bench-mpi    meta-updates per second for 1 and 2 ranks (scripts/bench-mpi.sh)
#   make experiments  regenerate the paper's figures into results/ (other SCALEs: results-<scale>/)
#   make clean
# The first step of every target installs missing Debian packages (scripts/ensure-deps.sh).
# MPI: build/l2l is linked with Open MPI when mpicxx is installed (or with MPI=1, which installs
# libopenmpi-dev and openmpi-bin); MPI=0 forces the serial build. Only tasks/run/comm.cpp differs.

SHELL    := /bin/bash
CXX      ?= g++
# -mprefer-vector-width=512: where -march=native has AVX-512, loops vectorize at 512 bits even
# under a tuning that prefers 256 (nn/fastmath.h; a no-op without AVX-512 or, here, with GCC 12.2).
CXXFLAGS ?= -O3 -march=native -mprefer-vector-width=512
CXXFLAGS += -std=c++17 -Wall -Wextra -I. -Ithird_party -Ithird_party/doctest -MMD -MP
LDLIBS   := -lopenblas -lz -llzma -lpthread
DEPS     := libopenblas-dev zlib1g-dev liblzma-dev graphviz
PLOTDEPS := gnuplot-nox
MPICXX   ?= mpicxx
MPI_DEPS := libopenmpi-dev openmpi-bin
MPI      ?= $(if $(shell command -v $(MPICXX) 2>/dev/null),1,0)
ifeq ($(MPI),1)
DEPS     += $(MPI_DEPS)
endif

LIB_SRC  := $(wildcard autodiff/*.cpp nn/*.cpp tasks/*.cpp tasks/*/*.cpp)
TEST_SRC := $(wildcard tests/*.cpp)
F32_TEST_SRC := $(wildcard tests/f32/*.cpp)
APPS     := autodiff_demo nn_demo l2l bench art_images own_model
APP_BINS := $(patsubst %,build/%,$(filter $(APPS),$(basename $(notdir $(wildcard apps/*.cpp)))))

F32_OBJ  := $(LIB_SRC:%.cpp=build/f32/%.o)
F64_OBJ  := $(LIB_SRC:%.cpp=build/f64/%.o) $(TEST_SRC:%.cpp=build/f64/%.o)
SAN_OBJ  := $(LIB_SRC:%.cpp=build/san/%.o) $(TEST_SRC:%.cpp=build/san/%.o)
SANFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

.PHONY: all test test-avx2 test-scripts test-slow test-zoo train-zoo test-mpi sanitize fuzz fuzz-deps bench bench-ref bench-mpi experiments clean deps FORCE
# Objects are intermediates of the pattern rules above: without this, make deletes them after
# linking and every later make recompiles the whole library.
.SECONDARY:
all: deps $(APP_BINS)

deps:
	@scripts/ensure-deps.sh $(DEPS)

build/f32/%.o: %.cpp | deps
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@
build/f64/%.o: %.cpp | deps
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -DL2L_DOUBLE -c $< -o $@
build/san/%.o: %.cpp | deps
	@mkdir -p $(dir $@)
	$(CXX) $(filter-out -O3,$(CXXFLAGS)) $(SANFLAGS) -DL2L_DOUBLE -c $< -o $@

build/mpi/%.o: %.cpp | deps
	@mkdir -p $(dir $@)
	$(MPICXX) $(CXXFLAGS) -DL2L_MPI -DOMPI_SKIP_MPICXX -c $< -o $@

build/%: build/f32/apps/%.o $(F32_OBJ)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)
# build/l2l: with tasks/run/comm.cpp over MPI or serial (comm.h); build/comm-mode changes when MPI
# does, so switching relinks.
L2L_COMM := $(if $(filter 1,$(MPI)),build/mpi/tasks/run/comm.o,build/f32/tasks/run/comm.o)
build/comm-mode: FORCE
	@mkdir -p build; echo "MPI=$(MPI)" | cmp -s - $@ || echo "MPI=$(MPI)" >$@
build/l2l: build/f32/apps/l2l.o build/f32/apps/l2l_eval.o build/f32/apps/l2l_verdict.o $(filter-out build/f32/tasks/run/comm.o,$(F32_OBJ)) $(L2L_COMM) build/comm-mode
	$(if $(filter 1,$(MPI)),$(MPICXX),$(CXX)) $(CXXFLAGS) $(filter %.o,$^) -o $@ $(LDLIBS)
# The serial build beside the MPI one, for test-mpi's check that it refuses mpirun.
build/l2l-serial: build/f32/apps/l2l.o build/f32/apps/l2l_eval.o build/f32/apps/l2l_verdict.o $(F32_OBJ)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)
# A test tool: whether two training states hold the same training (tests/scripts/test_zoo_reproduce.sh).
build/same_state: build/f32/tests/tools/same_state.o $(F32_OBJ)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)
build/tests: $(F64_OBJ)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)
# The float32 kernels against double references: compiled like the programs (build/f32).
build/tests-f32: $(F32_TEST_SRC:%.cpp=build/f32/%.o) $(F32_OBJ)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)
# The AVX2 path of the kernels, kept compiled and tested on a machine with AVX-512 (where the
# programs take the 512-bit one): the same sources with -mno-avx512f, in build/avx2/.
AVX2FLAGS  := $(CXXFLAGS) -mno-avx512f
KERNEL_TCS := *gemm_small*,*exp_poly*,*fused cell*,*fused LSTM*,*fused and composed*,*lstm cell*
build/avx2/f32/%.o: %.cpp | deps
	@mkdir -p $(dir $@)
	$(CXX) $(AVX2FLAGS) -c $< -o $@
build/avx2/f64/%.o: %.cpp | deps
	@mkdir -p $(dir $@)
	$(CXX) $(AVX2FLAGS) -DL2L_DOUBLE -c $< -o $@
build/avx2/tests-f32: $(F32_TEST_SRC:%.cpp=build/avx2/f32/%.o) $(LIB_SRC:%.cpp=build/avx2/f32/%.o)
	$(CXX) $(AVX2FLAGS) $^ -o $@ $(LDLIBS)
build/avx2/tests: $(LIB_SRC:%.cpp=build/avx2/f64/%.o) $(TEST_SRC:%.cpp=build/avx2/f64/%.o)
	$(CXX) $(AVX2FLAGS) $^ -o $@ $(LDLIBS)
build/tests-san: $(SAN_OBJ)
	$(CXX) $(SANFLAGS) $^ -o $@ $(LDLIBS)

# Tests run from the repository root (they look for ../shared/data from there).
test: deps build/tests build/tests-f32 build/avx2/tests-f32 build/l2l build/art_images build/nn_demo build/autodiff_demo build/own_model build/same_state
	build/tests $(TEST_ARGS)
	build/tests-f32
	build/avx2/tests-f32
	L2L_METAGRAD_OUT=build/metagrad_f32.ckpt build/tests-f32 -tc='*float32 meta-gradient*' --no-skip
	L2L_METAGRAD_OUT=build/metagrad_f32.ckpt build/tests -tc='*float32 meta-gradient*' --no-skip
	tests/scripts/test_experiments.sh
	tests/scripts/test_train_cli.sh
	tests/scripts/test_flags.sh
	tests/scripts/test_train_zoo.sh
	tests/scripts/test_fetch_data.sh
	tests/scripts/test_code_shape.sh
	tests/scripts/test_docs.sh

test-avx2: deps build/avx2/tests-f32 build/avx2/tests
	build/avx2/tests-f32
	build/avx2/tests -tc='$(KERNEL_TCS)'

# The shell scripts' choices (experiments.sh folders and recipe names, report and plot functions);
# runs no experiment, about a second. Also the last step of `make test`.
test-scripts:
	tests/scripts/test_experiments.sh
	tests/scripts/test_code_shape.sh
	tests/scripts/test_docs.sh

# Open MPI, as CI runs it: root needs OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM), containers the single-copy
# mechanism off; the script sets both and uses --oversubscribe (4 ranks on 2 cores).
test-mpi:
	@scripts/ensure-deps.sh $(MPI_DEPS)
	$(MAKE) MPI=1 build/l2l build/l2l-serial
	tests/scripts/test_mpi.sh

test-slow: deps build/tests build/l2l build/same_state
	build/tests --test-case='*[slow]*' --no-skip $(TEST_ARGS)
	tests/scripts/test_zoo_reproduce.sh

# The committed optimizers trained at scale (zoo/) come from this code: each one's first epoch,
# retrained from its command.txt, gives the committed training state bit for bit (minutes).
test-zoo: deps build/l2l build/same_state
	tests/scripts/test_zoo_reproduce.sh

# Meta-train the zoo's optimizers at scale (hours each): in chunks of ZOO_MINUTES (default 50),
# each resuming the last; commit zoo/ between chunks. scripts/train-zoo.sh says how.
train-zoo: all
	scripts/train-zoo.sh

sanitize: deps build/tests-san
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/tests-san $(TEST_ARGS)

# Fuzzing: each target in tests/fuzz/fuzz_<name>.cpp, linked with the library files it reads
# through, all compiled by clang with libFuzzer's coverage hooks and ASan+UBSan (float build;
# -march=native as the programs: the kernels' vector code needs the machine's vector width).
# docs/fuzzing.md says what each target covers and how to replay a crash.
# The corpus grows in build/fuzz/corpus/<name>/, seeded by make_seeds (small valid files) and
# tests/corpus/<name>/ (past crashes, also replayed by `make test`).
FUZZ_CXX     ?= clang++
FUZZ_SECONDS ?= 60
# Per input: a slower one fails the run. Raise it on a loaded machine, where a fast input can
# wait for a CPU longer than that (FUZZ_TIMEOUT=120).
FUZZ_TIMEOUT ?= 20
# libFuzzer's random seed: 0 draws a new one each run (finds new inputs); CI fixes it (FUZZ_SEED=1)
# so that its short pass starts from the same mutations every time (a time limit still cuts it).
FUZZ_SEED ?= 0
# ASan fills every fresh allocation up to 1 MiB (its default: the first 4 KiB), so that a reader
# that uses memory it never wrote sees the same bytes in every run, and its crash replays.
FUZZ_ASAN_OPTIONS ?= max_malloc_fill_size=1048576
FUZZ_FLAGS   := -std=c++17 -march=native -I. -Ithird_party -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=undefined
FUZZ_DEPS    := clang libclang-rt-14-dev
# image is decode_image alone (stb_image 2.27's PNG/JPEG decoders behind our checks; its finds
# in the JPEG decoder are patched in third_party/stb/stb_image.h, marked "l2l:", and listed in
# docs/fuzzing.md); image_file is the art task's whole path from a file (bounded read, size and
# aspect checks, resize); data_cache the cache file decoder; vgg the VGG weights reader;
# train_state --resume's and eval's reading of train_state.ckpt and phi.ckpt (they link the
# whole library).
FUZZ_TARGETS := checkpoint idx cifar image image_file data_cache vgg train_state
FUZZ_LIB_checkpoint := nn/checkpoint.cpp nn/files.cpp autodiff/tensor.cpp
FUZZ_LIB_idx        := tasks/data/data.cpp tasks/data/decompress.cpp nn/files.cpp
FUZZ_LIB_cifar      := tasks/data/data.cpp tasks/data/decompress.cpp nn/files.cpp
FUZZ_LIB_image      := tasks/data/image.cpp nn/files.cpp
FUZZ_LIB_image_file := tasks/data/image.cpp nn/files.cpp
FUZZ_LIB_data_cache := tasks/data/data_cache.cpp nn/checkpoint.cpp nn/files.cpp autodiff/tensor.cpp
FUZZ_LIB_vgg        := $(LIB_SRC)
FUZZ_LIB_train_state := $(LIB_SRC)
FUZZ_BINS    := $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
fuzz_objs     = $(addprefix build/fuzz/obj/,$(patsubst %.cpp,%.o,$(FUZZ_LIB_$1)))

# stb's coders shift negative ints left (defined in C++20, undefined in C++17; UBSan's
# shift-base check) and memcpy 0 bytes from a null pointer: not checked in the fuzz build of the
# one file that compiles stb.
build/fuzz/obj/tasks/data/image.o: FUZZ_FLAGS += -fno-sanitize=shift-base,nonnull-attribute
fuzz-deps:
	@scripts/ensure-deps.sh $(FUZZ_DEPS)
build/fuzz/obj/%.o: %.cpp | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
.SECONDEXPANSION:
build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o $$(call fuzz_objs,$$*)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $^ -o $@ $(LDLIBS)
# make_seeds saves checkpoints, encodes PNGs (stb's implementation is in image.cpp) and writes
# a training state (the whole library).
build/fuzz/make_seeds: build/fuzz/obj/tests/fuzz/make_seeds.o $(call fuzz_objs,train_state)
	$(FUZZ_CXX) $(FUZZ_FLAGS) $^ -o $@ $(LDLIBS)

fuzz: deps $(FUZZ_BINS) build/fuzz/make_seeds
	@build/fuzz/make_seeds build/fuzz/seeds
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t build/fuzz/crashes/$$t tests/corpus/$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -seed=$(FUZZ_SEED) -max_len=16384 -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=build/fuzz/crashes/$$t/ \
	    build/fuzz/corpus/$$t build/fuzz/seeds/$$t tests/corpus/$$t 2>&1 | grep -E '(INITED|DONE) |stat::number_of_executed_units|ERROR|SUMMARY|Test unit written' ; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || { echo "fuzz $$t FAILED: crashing input in build/fuzz/crashes/$$t/ (add it to tests/corpus/$$t/)"; exit 1; }; \
	done

bench: all
	build/bench

# One run: build/bench's MNIST rows (and its sgemm yardstick), then the PyTorch script, which
# reads bench's table and prints l2l/PyTorch ratios. Optional: never in test, CI or experiments.
# Debian's torch is for /usr/bin/python3 (not a pyenv python3 earlier on PATH).
REF_DEPS := python3-torch
bench-ref: deps build/bench
	@scripts/ensure-deps.sh $(REF_DEPS)
	set -o pipefail; build/bench --only mnist | tee build/bench-ref-l2l.txt
	/usr/bin/python3 scripts/bench_ref.py --l2l build/bench-ref-l2l.txt

bench-mpi:
	@scripts/ensure-deps.sh $(MPI_DEPS)
	$(MAKE) MPI=1 build/l2l
	scripts/bench-mpi.sh

experiments: all
	@scripts/ensure-deps.sh $(PLOTDEPS)
	scripts/experiments.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
