// comm.h: the few collective operations data-parallel meta-training needs, behind one small
// interface, so that the rest of the code never sees MPI (and has no #ifdef). The run
// (tasks/run/training.cpp) and l2l's main (init, agreed errors) call it; the method
// (tasks/meta_train.h) never does.
//
// Built with -DL2L_MPI (make MPI=1, or make when mpicxx is installed) comm.cpp calls Open MPI;
// otherwise it is the serial implementation: one rank, gathers copy. Even the
// MPI build stays serial (never calls MPI_Init) when it was not started by mpirun, so
// `build/l2l train` alone behaves exactly like the serial build.
//
// Every rank must make the same calls in the same order (they are collectives). Determinism:
// allgather returns every rank's buffer in rank order, so a sum the caller takes over that
// result, in a fixed index order, is the same bits on every rank and for every rank count.
//
// Is not: a general message-passing layer (no point-to-point, no reductions: a reduction's
// order is the library's, and results must not depend on the rank count).
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace l2l::comm {

// Starts MPI when launched by mpirun (an MPI build), else nothing. Call once, first in main.
// A serial build launched by mpirun with more than one rank throws: it would run R independent
// copies of the same job.
void init(int& argc, char**& argv);
void finalize();  // after the last collective; safe to call when init did nothing

int rank();  // 0 .. size()-1
int size();
bool is_root();  // rank() == 0: the one rank that writes files, logs and progress

// Every rank passes n doubles (the same n on all ranks); returns size()*n doubles, rank r's in
// [r*n, (r+1)*n).
std::vector<double> allgather(const std::vector<double>& mine);

// Error agreement, the guard against hangs: every rank passes its error message ("" = none).
// Returns "" on every rank when no rank failed, else, on every rank, the message of the
// lowest-numbered rank that failed, prefixed "rank R: " in a multi-rank run.
std::string first_error(const std::string& mine);

// An error every rank throws together (after first_error): each rank can leave normally, and
// rank 0 alone reports it.
struct AgreedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Throws AgreedError on every rank if `mine` or another rank's message is not empty.
void raise_if_any(const std::string& mine);

// Broadcast of bytes from rank 0 (e.g. a checkpoint file only rank 0 can read). Other ranks'
// `bytes` are replaced.
void broadcast(std::string& bytes);


// Stops every rank at once (MPI_Abort), for an error outside the agreed points, which would
// otherwise leave the other ranks waiting in a collective. Serial: std::exit(code).
[[noreturn]] void abort_all(int code);

// Seconds spent inside the collectives above since init: the communication share of a run.
double seconds_in_collectives();

}  // namespace l2l::comm
