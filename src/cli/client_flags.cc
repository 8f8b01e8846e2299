#include "cli/client_flags.h"

namespace moat::cli {

void AddClientCredentialOptions(CLI::App& command, tls::TlsClientOptions& tls, std::string& token) {
  command.add_option("--ca-cert", tls.ca_file,
                     "PEM CA certificates that the server's TLS certificate must chain to; the certificate "
                     "must also name the URL's host (an IP SAN for an IP address)");
  command.add_option("--client-cert", tls.cert_file,
                     "PEM client certificate for servers that ask for one (needs --client-key)");
  command.add_option("--client-key", tls.key_file, "Unencrypted PEM private key of --client-cert");
  command
      .add_option("--token", token,
                  "API token sent with every request (HTTP Authorization header, gRPC authorization "
                  "metadata); never printed")
      ->envname("MOAT_TOKEN");
}

}  // namespace moat::cli
