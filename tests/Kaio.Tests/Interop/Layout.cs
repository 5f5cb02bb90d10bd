using System.Runtime.CompilerServices;

namespace Kaio.Tests.Interop;

/// <summary>Field offsets measured on the managed layout itself (the structs are blittable).</summary>
internal static class Layout
{
    public static int Offset<TStruct, TField>(ref TStruct s, ref TField field)
        where TStruct : struct
        => (int)Unsafe.ByteOffset(ref Unsafe.As<TStruct, byte>(ref s), ref Unsafe.As<TField, byte>(ref field));
}
