// Disk quota for a playground volume: the volume directory becomes the
// mount point of its own ext4 file system, kept in a sparse image file next
// to it ("<path>.ext4") and attached through a loop device. Writes past the
// size fail with ENOSPC inside that volume only. See docs/sandbox.md for why
// (the data directory's / is ext4 without project quotas) and measurements.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/result.h"

namespace pg::sandbox {

struct QuotaStatus {
  bool enforced = false;  // false: no quota (the volume is a plain directory)
  std::string detail;     // why not, or "ext4 image on /dev/loopN, N bytes"
};

// Makes `path` (an existing, absolute directory; normally empty) a volume of
// at most `bytes` (>= 8 MiB). Idempotent: an existing image is mounted again
// (after a host restart) with its data. The new file system's root keeps the
// owner and mode `path` had. When this host cannot do it (not root, no loop
// devices, no mkfs.ext4), returns enforced=false and leaves `path` as is.
Result<QuotaStatus> CreateQuotaVolume(const std::string& path, int64_t bytes);

// Unmounts the volume at `path` (if mounted) and deletes its image. The
// directory itself stays (the caller removes it). Missing volumes are fine.
Result<void> DestroyQuotaVolume(const std::string& path);

// Whether `path` currently is a mounted quota volume.
bool IsQuotaVolume(const std::string& path);

}  // namespace pg::sandbox
