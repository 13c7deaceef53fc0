import CertsCore

/// libFuzzer's callback: one input through every parser of untrusted bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func certsFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    ParsingSurface.exercise(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
