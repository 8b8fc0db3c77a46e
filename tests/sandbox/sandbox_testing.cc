#include "sandbox_testing.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace pg::sandbox::testing {

Result<RunResult> RunSandbox(Spec spec) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return Error::FromErrno("pipe", errno);
  spec.stdout_fd = out[1];
  spec.stderr_fd = err[1];
  auto proc = Launch(spec);
  close(out[1]);
  close(err[1]);
  RunResult r;
  if (!proc.ok()) {
    close(out[0]);
    close(err[0]);
    return proc.error();
  }
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_count = 2;
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      } else {
        (i == 0 ? r.out : r.err).append(buf, n);
      }
    }
  }
  auto outcome = (*proc)->Wait();
  if (!outcome.ok()) return outcome.error();
  r.outcome = *outcome;
  return r;
}

Spec Shell(const std::string& script) {
  Spec s;
  s.argv = {"/bin/sh", "-c", script};
  return s;
}

}  // namespace pg::sandbox::testing
