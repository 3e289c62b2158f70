// How the compiled rasteriser splits work between torch's threads (at::parallel_for, OpenMP).
//
// Tiles are the unit of parallel work: each thread takes the next tile from an atomic counter,
// so a thread that the OS deschedules (a shared machine) holds back at most one tile. Loops over
// Gaussians (projection, SH, spans, gathers) are cheap per Gaussian and go parallel in chunks of
// at least kGaussianGrain Gaussians: each parallel region ends in a barrier, which on an
// oversubscribed machine waits for a descheduled thread's next time slice. 2^15 measured on the
// quiet 2-core machine (2026-12-04, python -m pcc.bench render): biker.spz (152,746 Gaussians)
// scales 1.76x forward / 1.72x forward+backward on 2 threads, against 1.28x / 1.40x with 2^18
// (which kept every loop over fewer than 262,144 Gaussians on one thread).

#pragma once

#include <cstdint>

namespace pcc {

constexpr int64_t kGaussianGrain = 1 << 15;

}  // namespace pcc
