// Command-line flags that every client command shares: the TLS files for
// https:// and grpcs:// servers, and the API token.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "tls/tls_context.h"

namespace moat::cli {

// Adds --ca-cert, --client-cert, --client-key and --token (also read from
// MOAT_TOKEN) to `command`.
void AddClientCredentialOptions(CLI::App& command, tls::TlsClientOptions& tls, std::string& token);

}  // namespace moat::cli
