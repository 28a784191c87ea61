#include "cli/commands.h"

int main(int argc, char** argv) { return axis::cli::Main(argc, argv); }
