// playground: one binary, many subcommands (see src/cli/cli.h).
#include "cli/cli.h"

int main(int argc, char** argv) { return pg::cli::Main(argc, argv); }
