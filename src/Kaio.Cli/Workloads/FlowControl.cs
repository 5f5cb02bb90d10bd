// Design: fio's flow (HOWTO: "Weight in token-based flow control"): jobs sharing a flow_id keep
// their activity in the ratio of their weights — flow=8 and flow=1 run about eight requests to
// one. Each running job thread is a member with its weight; a member may issue while its
// requests per unit of weight are not ahead of the slowest other member's by more than one
// request's worth; otherwise it waits (flow_sleep, or a millisecond) and asks again. A member
// leaves when its thread ends, so the others are not held back by a finished job.
// Thread-safety: members run on different threads; the group's state is under one lock.
namespace Kaio.Cli.Workloads;

/// <summary>The members of one flow_id.</summary>
internal sealed class FlowGroup
{
    private readonly Lock _lock = new();
    private readonly List<FlowMember> _members = [];

    public FlowMember Join(int weight)
    {
        var member = new FlowMember(this, weight);
        lock (_lock)
        {
            _members.Add(member);
        }

        return member;
    }

    internal void Leave(FlowMember member)
    {
        lock (_lock)
        {
            _members.Remove(member);
        }
    }

    /// <summary>Whether <paramref name="member"/> may issue one more request now; counts it when so.</summary>
    internal bool TryIssue(FlowMember member)
    {
        lock (_lock)
        {
            double mine = (member.Issued + 1) / (double)member.Weight;
            foreach (FlowMember other in _members)
            {
                if (other != member && mine > ((other.Issued + 1) / (double)other.Weight) + 1.0 / other.Weight + 1.0 / member.Weight)
                {
                    return false;
                }
            }

            member.Issued++;
            return true;
        }
    }
}

/// <summary>One job thread in a flow group.</summary>
internal sealed class FlowMember(FlowGroup group, int weight)
{
    public int Weight { get; } = weight;

    /// <summary>Requests issued; under the group's lock.</summary>
    public long Issued { get; set; }

    public bool TryIssue() => group.TryIssue(this);

    public void Leave() => group.Leave(this);
}
