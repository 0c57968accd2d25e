// windows_vectors_test.go: what Windows' CertNameToStr prints for names,
// from Wine's crypt32 tests (github.com/wine-mirror/wine,
// dlls/crypt32/tests/str.c at 0065b244), which Wine's test suite also
// runs against Windows itself. Each row names the test and the encoded
// name it passes; the DER is that test's own bytes (the subject of its
// certificate "cert" sliced from the certificate's bytes). Flags are the
// CertNameToStr flags beyond CERT_X500_NAME_STR: "Reversed" is
// CERT_NAME_STR_REVERSE_FLAG, least significant RDN first, as .NET's form
// lists them. A string the test prints without it names one RDN, where the
// order does not matter.
//
// Refused is as in dotnet_vectors_test.go.

package clientcertificate

const wineStrC = "wine dlls/crypt32/tests/str.c"

var windowsNameVectors = []nameVector{
	{wineStrC, "test_CertNameToStrW: cert subject, CERT_X500_NAME_STR | CERT_NAME_STR_SEMICOLON_FLAG | CERT_NAME_STR_REVERSE_FLAG", "Reversed", "3081A1310B300906035504061302555331123010060355040813094D696E6E65736F7461311430120603550407130B4D696E6E6561706F6C697331143012060355040A130B436F64655765617665727331193017060355040B131057696E6520446576656C6F706D656E7431123010060355040313096C6F63616C686F73743123302106092A864886F70D01090116146172696340636F6465776561766572732E636F6D", "E=aric@codeweavers.com; CN=localhost; OU=Wine Development; O=CodeWeavers; L=Minneapolis; S=Minnesota; C=US", ""},
	{wineStrC, "test_CertNameToStrW: encodedSimpleCN, CERT_X500_NAME_STR", "", "300C310A30080603550403130131", "CN=1", ""},
	{wineStrC, "test_CertNameToStrW: encodedSingleQuotedCN, CERT_X500_NAME_STR", "", "300E310C300A06035504031303273127", "CN='1'", ""},
	{wineStrC, "test_CertNameToStrW: encodedSpacedCN, CERT_X500_NAME_STR", "", "300E310C300A06035504031303203120", `CN=" 1 "`, ""},
	{wineStrC, "test_CertNameToStrW: encodedQuotedCN (BMPString), CERT_X500_NAME_STR", "", "3011310F300D06035504031E06002200310022", `CN="""1"""`, ""},
	{wineStrC, "test_CertNameToStrW: encodedMultipleAttrCN, CERT_X500_NAME_STR", "", "300E310C300A06035504031303312B32", `CN="1+2"`, ""},
	{wineStrC, "test_CertNameToStrW: encodedCommaCN, CERT_X500_NAME_STR", "", "300E310C300A06035504031303612C62", `CN="a,b"`, ""},
	{wineStrC, "test_CertNameToStrW: encodedEqualCN, CERT_X500_NAME_STR", "", "300E310C300A06035504031303613D62", `CN="a=b"`, ""},
	{wineStrC, "test_CertNameToStrW: encodedLessThanCN (BMPString), CERT_X500_NAME_STR", "", "300D310B300906035504031E02003C", `CN="<"`, ""},
	{wineStrC, "test_CertNameToStrW: encodedGreaterThanCN (BMPString), CERT_X500_NAME_STR", "", "300D310B300906035504031E02003E", `CN=">"`, ""},
	{wineStrC, "test_CertNameToStrW: encodedHashCN (BMPString), CERT_X500_NAME_STR", "", "300D310B300906035504031E020023", `CN="#"`, ""},
	{wineStrC, "test_CertNameToStrW: encodedSemiCN (BMPString), CERT_X500_NAME_STR", "", "300D310B300906035504031E02003B", `CN=";"`, ""},
	{wineStrC, "test_CertNameToStrW: encodedNewlineCN (BMPString), CERT_X500_NAME_STR", "", "3011310F300D06035504031E060061000A0062", "CN=\"a\nb\"", "control character"},
}
