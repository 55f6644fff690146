# l2l Makefile. Targets:
#   make              library + programs (float32), in build/
#   make test         the doctest suite (compiled in double for gradient checks), then its summary,
#                     then tests/scripts/test_experiments.sh (also alone: make test-scripts)
#   make test-slow    the slow behavioural tests (meta-training runs), skipped by `make test`
#   make sanitize     the same suite under AddressSanitizer + UBSan
#   make bench        speed table (ratios and throughputs; never part of the tests)
#   make experiments  regenerate the paper's figures into results/ (SCALE=paper for full budgets)
#   make clean
# The first step of every target installs missing Debian packages (scripts/ensure-deps.sh).

CXX      ?= g++
CXXFLAGS ?= -O3 -march=native
CXXFLAGS += -std=c++17 -Wall -Wextra -I. -Ithird_party -Ithird_party/doctest -MMD -MP
LDLIBS   := -lopenblas -lz -llzma -lpthread
DEPS     := libopenblas-dev zlib1g-dev liblzma-dev graphviz
PLOTDEPS := gnuplot-nox

LIB_SRC  := $(wildcard autodiff/*.cpp nn/*.cpp tasks/*.cpp)
TEST_SRC := $(wildcard tests/*.cpp)
APPS     := autodiff_demo nn_demo l2l bench
APP_BINS := $(patsubst %,build/%,$(filter $(APPS),$(basename $(notdir $(wildcard apps/*.cpp)))))

F32_OBJ  := $(LIB_SRC:%.cpp=build/f32/%.o)
F64_OBJ  := $(LIB_SRC:%.cpp=build/f64/%.o) $(TEST_SRC:%.cpp=build/f64/%.o)
SAN_OBJ  := $(LIB_SRC:%.cpp=build/san/%.o) $(TEST_SRC:%.cpp=build/san/%.o)
SANFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

.PHONY: all test test-scripts test-slow sanitize bench experiments clean deps
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

build/%: build/f32/apps/%.o $(F32_OBJ)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)
build/l2l: build/f32/apps/l2l_eval.o
build/tests: $(F64_OBJ)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)
build/tests-san: $(SAN_OBJ)
	$(CXX) $(SANFLAGS) $^ -o $@ $(LDLIBS)

# Tests run from the repository root (they look for ../shared/data from there).
test: deps build/tests
	build/tests $(TEST_ARGS)
	tests/scripts/test_experiments.sh

# The shell scripts' choices (experiments.sh folders and recipe names, report and plot helpers);
# runs no experiment, about a second. Also the last step of `make test`.
test-scripts:
	tests/scripts/test_experiments.sh

test-slow: deps build/tests
	build/tests --test-case='*[slow]*' --no-skip $(TEST_ARGS)

sanitize: deps build/tests-san
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/tests-san $(TEST_ARGS)

bench: all
	build/bench

experiments: all
	@scripts/ensure-deps.sh $(PLOTDEPS)
	scripts/experiments.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
