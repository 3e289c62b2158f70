// How the compiled rasteriser splits work between torch's threads (at::parallel_for, OpenMP).
//
// Tiles are the unit of parallel work: each thread takes the next tile from an atomic counter,
// so a thread that the OS deschedules (a shared machine) holds back at most one tile. Loops over
// Gaussians (projection, spans, gathers) are cheap per Gaussian; each parallel region ends in a
// barrier that, on an oversubscribed machine, waits for a descheduled thread's next time slice,
// which costs more than the loop itself for a few hundred thousand Gaussians. They only go
// parallel in chunks of at least kGaussianGrain Gaussians.

#pragma once

#include <cstdint>

namespace pcc {

constexpr int64_t kGaussianGrain = 1 << 18;

}  // namespace pcc
