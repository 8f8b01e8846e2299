// `moat keygen`, `moat pack`, `moat sign` and `moat verify`: the publisher's
// and the operator's tools for signed model bundles.
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "bundle/keys.h"
#include "bundle/pack.h"
#include "bundle/trust_store.h"
#include "bundle/verify.h"
#include "cli/commands.h"
#include "common/file.h"
#include "runtime/onnx_runtime.h"

namespace moat::cli {

namespace {

// Prints each line of `status` as "moat COMMAND: line" and marks failure.
void ReportFailure(std::string_view command, const Status& status, int& exit_code) {
  std::string_view message = status.message();
  while (true) {
    size_t newline = message.find('\n');
    std::cerr << "moat " << command << ": " << message.substr(0, newline) << "\n";
    if (newline == std::string_view::npos) break;
    message.remove_prefix(newline + 1);
  }
  exit_code = 1;
}

struct KeygenOptions {
  std::string prefix;
};

void AddKeygen(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<KeygenOptions>();
  CLI::App* command =
      app.add_subcommand("keygen", "Generate an Ed25519 publisher key pair and print its key id");
  command
      ->add_option("--out", options->prefix,
                   "Path prefix: writes PREFIX.private.pem (PKCS#8, mode 0600) and PREFIX.public.pem "
                   "(SubjectPublicKeyInfo, for trust directories). Refuses to overwrite either")
      ->required();
  command->callback([options, &exit_code] {
    std::string private_path = options->prefix + ".private.pem";
    std::string public_path = options->prefix + ".public.pem";
    // A missing key folder is created readable by its owner only.
    std::filesystem::path folder = std::filesystem::path(options->prefix).parent_path();
    std::error_code error;
    if (!folder.empty() && !std::filesystem::exists(folder, error)) {
      std::filesystem::create_directories(folder, error);
      if (!error) {
        std::filesystem::permissions(folder, std::filesystem::perms::owner_all, error);
      }
      if (error) {
        return ReportFailure(
            "keygen", FailedPreconditionError(folder.string() + ": cannot create the key folder: " + error.message()),
            exit_code);
      }
    }
    StatusOr<std::string> key_id = bundle::GenerateKeyFiles(private_path, public_path);
    if (!key_id.ok()) return ReportFailure("keygen", key_id.status(), exit_code);
    std::cout << "private key: " << private_path << "\npublic key: " << public_path << "\nkey id: " << *key_id
              << "\n";
  });
}

struct PackOptions {
  std::string model_path;
  std::vector<std::string> extra_paths;
  std::string name;
  int64_t version = 0;
  std::string out_dir;
  std::string sign_key;
};

// Reads the model's declared inputs and outputs through ONNX Runtime.
Status InspectModel(bundle::PackRequest& request) {
  std::error_code error;
  std::filesystem::path resolved = std::filesystem::canonical(request.model_path, error);
  if (error) return NotFoundError(request.model_path + ": cannot resolve the path: " + error.message());
  MOAT_ASSIGN_OR_RETURN(std::string model_bytes, ReadFile(resolved.string()));
  StatusOr<runtime::ModelSignature> signature = runtime::InspectOnnxModel(model_bytes);
  if (!signature.ok()) {
    return Status(
        signature.status().code(),
        request.model_path + ": cannot read the model's inputs and outputs: " + signature.status().message());
  }
  request.inputs = std::move(signature->inputs);
  request.outputs = std::move(signature->outputs);
  return OkStatus();
}

Status RunPack(const PackOptions& options) {
  // Load the signing key first, so a bad key leaves no unsigned bundle behind.
  std::unique_ptr<bundle::PrivateKey> key;
  if (!options.sign_key.empty()) {
    MOAT_ASSIGN_OR_RETURN(bundle::PrivateKey loaded, bundle::PrivateKey::LoadFile(options.sign_key));
    key = std::make_unique<bundle::PrivateKey>(std::move(loaded));
  }
  bundle::PackRequest request{options.model_path, options.extra_paths, options.name, options.version, {}, {}};
  MOAT_RETURN_IF_ERROR(InspectModel(request));
  MOAT_ASSIGN_OR_RETURN(bundle::Manifest manifest, bundle::PackBundle(request, options.out_dir));
  std::cout << "packed " << manifest.name << " version " << manifest.version << " into " << options.out_dir
            << " (" << manifest.files.size() << " files)\n";
  if (key) {
    MOAT_ASSIGN_OR_RETURN(std::string path, bundle::SignBundle(options.out_dir, *key));
    std::cout << "signed with key " << key->key_id() << ": " << path << "\n";
  }
  return OkStatus();
}

void AddPack(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PackOptions>();
  CLI::App* command = app.add_subcommand(
      "pack",
      "Create a bundle: copy an ONNX model and extra files into a new directory and write its manifest");
  command->add_option("model", options->model_path, "ONNX model file, the file the runtime loads")
      ->required();
  command->add_option("--name", options->name, "Model name: 1-128 characters of [A-Za-z0-9._-]")->required();
  command->add_option("--version", options->version, "Model version, a positive integer")->required();
  command
      ->add_option("--out", options->out_dir,
                   "Bundle directory to create. It must not exist or must be empty")
      ->required();
  command->add_option("--file", options->extra_paths,
                      "Extra file to include under its base name (repeatable)");
  command->add_option("--sign-key", options->sign_key, "Private key (PEM) to sign the new bundle with");
  command->callback([options, &exit_code] {
    Status status = RunPack(*options);
    if (!status.ok()) ReportFailure("pack", status, exit_code);
  });
}

struct SignOptions {
  std::string bundle_dir;
  std::string key_path;
};

void AddSign(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<SignOptions>();
  CLI::App* command = app.add_subcommand(
      "sign", "Check a bundle's files against its manifest, then add or replace this key's signature");
  command->add_option("bundle", options->bundle_dir, "Bundle directory")->required();
  command->add_option("--key", options->key_path, "Private key (PEM, PKCS#8 Ed25519)")->required();
  command->callback([options, &exit_code] {
    StatusOr<bundle::PrivateKey> key = bundle::PrivateKey::LoadFile(options->key_path);
    if (!key.ok()) return ReportFailure("sign", key.status(), exit_code);
    StatusOr<std::string> path = bundle::SignBundle(options->bundle_dir, *key);
    if (!path.ok()) return ReportFailure("sign", path.status(), exit_code);
    std::cout << "signed with key " << key->key_id() << ": " << *path << "\n";
  });
}

struct VerifyCommandOptions {
  std::string bundle_dir;
  std::string trust_dir;
  bundle::VerifyOptions limits;
};

void AddVerify(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<VerifyCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "verify", "Verify a bundle: trusted signatures over the manifest, and every file's size and SHA-256");
  command->add_option("bundle", options->bundle_dir, "Bundle directory")->required();
  command->add_option("--trust", options->trust_dir, "Directory of trusted publisher public keys (*.pem)")
      ->required();
  command
      ->add_option("--min-signatures", options->limits.min_signatures,
                   "Distinct trusted keys that must have signed")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  command
      ->add_option("--max-bundle-bytes", options->limits.max_bundle_bytes,
                   "Largest total size of the listed files, in bytes")
      ->capture_default_str();
  command->callback([options, &exit_code] {
    StatusOr<bundle::TrustStore> trust = bundle::TrustStore::LoadDirectory(options->trust_dir);
    if (!trust.ok()) return ReportFailure("verify", trust.status(), exit_code);
    StatusOr<bundle::VerifiedBundle> verified =
        bundle::VerifyBundle(options->bundle_dir, *trust, options->limits);
    if (!verified.ok()) return ReportFailure("verify", verified.status(), exit_code);
    std::cout << "verified " << options->bundle_dir << "\nname: " << verified->manifest.name
              << "\nversion: " << verified->manifest.version << "\ndigest: sha256:" << verified->digest
              << "\nsigned by:";
    for (const std::string& key_id : verified->signer_key_ids) std::cout << " " << key_id;
    std::cout << "\n";
  });
}

}  // namespace

void AddBundleCommands(CLI::App& app, int& exit_code) {
  AddKeygen(app, exit_code);
  AddPack(app, exit_code);
  AddSign(app, exit_code);
  AddVerify(app, exit_code);
}

}  // namespace moat::cli
