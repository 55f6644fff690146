// comm.cpp: comm.h over Open MPI (-DL2L_MPI), or the serial implementation. The only file of the
// project that includes mpi.h. See comm.h.
#include "tasks/run/comm.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#ifdef L2L_MPI
#include <mpi.h>
#endif

namespace l2l::comm {

namespace {

int g_rank = 0, g_size = 1;
bool g_mpi = false;  // MPI_Init was called (an MPI build started by mpirun)
double g_comm_seconds = 0;

// The rank count the launcher announces (Open MPI, PMIx, MPICH/Hydra, Slurm), 0 if none.
int launcher_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"})
    if (const char* s = std::getenv(v)) return std::atoi(s);
  return 0;
}
bool launched_by_mpirun() {
  return launcher_size() > 0 || std::getenv("OMPI_COMM_WORLD_RANK") || std::getenv("PMIX_RANK") || std::getenv("PMI_RANK");
}

// Adds the wall time of one collective to g_comm_seconds.
struct Timed {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  ~Timed() { g_comm_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
};

#ifdef L2L_MPI
void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    std::fprintf(stderr, "l2l: %s failed (MPI error %d) on rank %d\n", what, rc, g_rank);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
}
#endif

}  // namespace

void init(int& argc, char**& argv) {
  if (!launched_by_mpirun()) return;
#ifdef L2L_MPI
  check(MPI_Init(&argc, &argv), "MPI_Init");
  g_mpi = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
#else
  (void)argc, (void)argv;
  if (launcher_size() > 1)
    throw std::runtime_error("this l2l was built without MPI, so under mpirun every one of the " + std::to_string(launcher_size()) +
                             " ranks would run the whole job alone. Rebuild with MPI: `make MPI=1` (installs libopenmpi-dev and "
                             "openmpi-bin), then run mpirun again; or run build/l2l without mpirun.");
#endif
}

void finalize() {
#ifdef L2L_MPI
  if (g_mpi) MPI_Finalize();
#endif
  g_mpi = false;
}

int rank() { return g_rank; }
int size() { return g_size; }
bool is_root() { return g_rank == 0; }
double seconds_in_collectives() { return g_comm_seconds; }

std::vector<double> allgather(const std::vector<double>& mine) {
  Timed timed;
  if (!g_mpi) return mine;
#ifdef L2L_MPI
  std::vector<double> all(mine.size() * g_size);
  check(MPI_Allgather(mine.data(), (int)mine.size(), MPI_DOUBLE, all.data(), (int)mine.size(), MPI_DOUBLE, MPI_COMM_WORLD),
        "MPI_Allgather");
  return all;
#else
  return mine;
#endif
}

// Two steps: which ranks failed (one int each), then the first one's message by broadcast.
std::string first_error(const std::string& mine) {
  Timed timed;
  if (!g_mpi) return mine;
#ifdef L2L_MPI
  int failed = mine.empty() ? 0 : 1;
  std::vector<int> flags(g_size);
  check(MPI_Allgather(&failed, 1, MPI_INT, flags.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
  int first = -1;
  for (int r = 0; r < g_size && first < 0; r++)
    if (flags[r]) first = r;
  if (first < 0) return "";
  std::string msg = mine;
  int n = (int)msg.size();
  check(MPI_Bcast(&n, 1, MPI_INT, first, MPI_COMM_WORLD), "MPI_Bcast");
  msg.resize(n);
  check(MPI_Bcast(msg.data(), n, MPI_CHAR, first, MPI_COMM_WORLD), "MPI_Bcast");
  return "rank " + std::to_string(first) + ": " + msg;
#else
  return mine;
#endif
}

void raise_if_any(const std::string& mine) {
  std::string agreed = first_error(mine);
  if (!agreed.empty()) throw AgreedError(agreed);
}

void broadcast(std::string& bytes) {
  Timed timed;
  (void)bytes;
  if (!g_mpi) return;
#ifdef L2L_MPI
  unsigned long long n = bytes.size();
  check(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
  bytes.resize(n);
  for (unsigned long long off = 0; off < n;) {  // counts are int: chunks of 1 GiB at most
    int chunk = (int)std::min<unsigned long long>(n - off, 1ull << 30);
    check(MPI_Bcast(bytes.data() + off, chunk, MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
    off += chunk;
  }
#endif
}

void abort_all(int code) {
#ifdef L2L_MPI
  if (g_mpi) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

}  // namespace l2l::comm
