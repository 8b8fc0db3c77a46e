// Command-line entry: `playground serve | workspace-server | runner-server |
// create | ls | show | stop | start | rm | put | get`.
#pragma once

namespace pg::cli {

int Main(int argc, char** argv);

}  // namespace pg::cli
