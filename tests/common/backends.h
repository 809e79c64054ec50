// The driver backends this build has (make BACKENDS=..., listed by the
// registry through npu_backend_names()) and the skip of a test that needs
// one the build left out: a GTEST_SKIP() that names the backend and the
// build's list, never a silent pass. tests/driver/backend_test.cc checks
// that the registry lists exactly the configured backends, so a build that
// lost one fails there instead of skipping quietly here.
#ifndef NPU_TEST_BACKENDS_H
#define NPU_TEST_BACKENDS_H

#include <string>

#include "npu.h"

namespace npu_test
{

// The scheme of a device URI: "sim" for "sim:config=small".
inline std::string UriScheme(const std::string &uri)
{
	return uri.substr(0, uri.find(':'));
}

// True when npu_backend_names() lists the scheme of uri.
inline bool BackendBuilt(const std::string &uri)
{
	const std::string scheme = UriScheme(uri);
	for (const char *const *n = npu_backend_names(); *n; n++)
		if (scheme == *n)
			return true;
	return false;
}

// The driver backends of this build, as BACKENDS spells them ("sim null").
inline std::string BuiltBackends()
{
	std::string s;
	for (const char *const *n = npu_backend_names(); *n; n++)
		if (std::string(*n) != "cpu")
			s += (s.empty() ? "" : " ") + std::string(*n);
	return s;
}

} // namespace npu_test

// Skip the current test (from its body or SetUp) when the backend of uri
// is not built, with the reason.
#define NPU_TEST_REQUIRE_BACKEND(uri)                                                              \
	do {                                                                                       \
		if (!npu_test::BackendBuilt(uri))                                                  \
			GTEST_SKIP()                                                               \
			        << npu_test::UriScheme(uri)                                        \
			        << " backend not built: BACKENDS=" << npu_test::BuiltBackends();   \
	} while (0)

#endif // NPU_TEST_BACKENDS_H
