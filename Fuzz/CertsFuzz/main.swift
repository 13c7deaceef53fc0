#if canImport(Glibc)
import Glibc
#endif

// SwiftPM gives an executable target a `main` of its own (and links with --defsym main=...), so
// libFuzzer's main may not be the one that runs: start libFuzzer's driver from ours. scripts/fuzz
// links with --allow-multiple-definition; whichever main wins, the same callback runs.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in certsFuzzOneInput(data, size) })
