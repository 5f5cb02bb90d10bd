// Every interop signature is blittable: no runtime marshalling anywhere in the assembly.
[assembly: System.Runtime.CompilerServices.DisableRuntimeMarshalling]
